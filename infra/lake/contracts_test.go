package lake_test

import (
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/contract"
)

func columnsOf(c *contract.Contract) [][2]string {
	out := make([][2]string, len(c.Fields))
	for i := range c.Fields {
		out[i] = [2]string{c.Fields[i].Name, c.Fields[i].GlueType()}
	}
	return out
}

// ordersStream is the id of the orders dataset's own stream; namesEveryStream the resources that
// name every stream, and so change when one is added.
const ordersStream = "DatasetOrdersEventStream"

var namesEveryStream = map[string]bool{"IngestFunction": true, "IngestRoleDefaultPolicy": true, "ProducerRoleDefaultPolicy": true,
	"CollectFunction": true, "CollectRoleDefaultPolicy": true}

const ordersAvsc = `{"type":"record","name":"orders","doc":"Orders placed.","sluice.eventTime":"placed_at","sluice.key":["order_id"],"fields":[
 {"name":"order_id","type":"string"},
 {"name":"placed_at","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"total","type":["null","double"],"default":null},
 {"name":"items","type":"int"},
 {"name":"ship_date","type":["null",{"type":"int","logicalType":"date"}],"default":null},
 {"name":"tags","type":["null",{"type":"map","values":"string"}],"default":null}]}`

// Adding a contract file to events/ adds its two Glue tables (raw and cleansed: the curated one is
// an Iceberg table promote creates at the dataset's first commit) and its own stream (with its
// Firehose, mapping, alarms and output), and changes nothing else but what names every stream:
// ingest's and collect's maps and grants, the producer's grants, the DatasetStreams output.
func TestAddingAContractAddsOnlyItsTablesAndStream(t *testing.T) {
	base := defaultSynth(t)
	orders, err := contract.Parse("orders.avsc", []byte(ordersAvsc))
	if err != nil {
		t.Fatal(err)
	}
	more := synth(t, append(shipped(t), orders), nil)

	before := base.json["Resources"].(map[string]interface{})
	after := more.json["Resources"].(map[string]interface{})
	var added []string
	for id, r := range after {
		old, ok := before[id]
		if !ok {
			added = append(added, id)
			continue
		}
		if toJSON(old) != toJSON(r) && !(namesEveryStream[construct(id)] && strings.Contains(toJSON(r), ordersStream)) {
			t.Errorf("resource %s changed:\nbefore %s\nafter  %s", id, toJSON(old), toJSON(r))
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			t.Errorf("resource %s disappeared", id)
		}
	}
	beforeOut, afterOut := base.json["Outputs"].(map[string]interface{}), more.json["Outputs"].(map[string]interface{})
	for k, v := range afterOut {
		if k != "DatasetStreams" && k != "StreamNameOrders" && toJSON(beforeOut[k]) != toJSON(v) {
			t.Errorf("output %s changed", k)
		}
	}
	if len(afterOut) != len(beforeOut)+1 || !strings.Contains(toJSON(afterOut["DatasetStreams"]), ordersStream) {
		t.Errorf("outputs: want StreamNameOrders added and orders in DatasetStreams")
	}
	var tables []string
	for _, id := range added {
		if strings.HasPrefix(id, "Table") {
			tables = append(tables, id)
		} else if !strings.Contains(id, "DatasetOrders") {
			t.Errorf("added %s, neither a table of orders nor a part of its stream", id)
		}
	}
	if len(tables) != 2 || len(added) < 2+6 {
		t.Fatalf("added %v, want the raw and cleansed tables of orders and its stream", added)
	}
	for _, z := range []struct{ zone, prefix string }{{"raw", "archive/"}, {"cleansed", ""}} {
		found := false
		for _, id := range added {
			r := after[id].(map[string]interface{})
			if r["Type"] == "AWS::Glue::Table" && prop(r, "TableInput", "Name") == z.zone+"_orders" {
				found = true
				checkTable(t, r, "orders", z.zone, z.prefix, columnsOf(orders))
			}
		}
		if !found {
			t.Errorf("no table %s_orders among %s", z.zone, strings.Join(added, ", "))
		}
	}
	if len(more.nag) > 0 {
		t.Errorf("nag errors with the new contract: %v", more.nag)
	}
}
