package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/zone"
)

// RollbackRequest is the body of POST /tables/{dataset}/rollback.
type RollbackRequest struct {
	SnapshotID int64 `json:"snapshot_id"`
}

// RolledBack is the answer to a rollback: the new snapshot, whose state is the one asked for.
type RolledBack struct {
	Dataset    string `json:"dataset"`
	SnapshotID int64  `json:"snapshot_id"`
	RestoredID int64  `json:"restored_snapshot_id"`
	Run        string `json:"run"`
}

// tables answers GET /tables/{dataset}/history and POST /tables/{dataset}/rollback.
func (s *Service) tables(ctx context.Context, r Request, parts []string, rec *audit.Record) Response {
	if len(parts) != 3 || (parts[2] != "history" && parts[2] != "rollback") {
		return errorf(http.StatusNotFound, "no route %s %s: the API has GET /tables/{dataset}/history and POST /tables/{dataset}/rollback", r.Method, clip(r.Path))
	}
	dataset := parts[1]
	rec.Datasets, rec.Zones = dataset, string(zone.Curated)
	if s.Tables == nil {
		return errorf(http.StatusNotFound, "this API serves no tables: give the service its curated tables (the query function does when its curated bucket is set)")
	}
	if s.Compiler == nil || s.Compiler.Contracts[dataset] == nil {
		return errorf(http.StatusNotFound, "no dataset %q", clip(dataset))
	}
	var policy = s.Compiler.Access
	switch parts[2] {
	case "history":
		if r.Method != http.MethodGet {
			return errorf(http.StatusMethodNotAllowed, "use GET /tables/{dataset}/history")
		}
		// The history names snapshots, runs and counts, which a reader of curated may see.
		if err := policy.Zone(r.Caller, dataset, zone.Curated); err != nil {
			return badRequest(err)
		}
		h, err := s.Tables(dataset).History(ctx)
		if errors.Is(err, iceberg.ErrNoTable) {
			return errorf(http.StatusNotFound, "%s has no curated table yet: it is made by the first promotion", dataset)
		}
		if err != nil {
			return s.internal("read the table's history", err)
		}
		return jsonResponse(http.StatusOK, map[string]any{"dataset": dataset, "snapshots": h})
	}
	if r.Method != http.MethodPost {
		return errorf(http.StatusMethodNotAllowed, "use POST /tables/{dataset}/rollback with {\"snapshot_id\": N}")
	}
	if err := policy.Manage(r.Caller, dataset); err != nil {
		return badRequest(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	var req RollbackRequest
	if err := dec.Decode(&req); err != nil || req.SnapshotID <= 0 {
		return errorf(http.StatusBadRequest, "give {\"snapshot_id\": N} with a snapshot id from GET /tables/%s/history", dataset)
	}
	run := "rollback-" + r.RequestID
	tbl := s.Tables(dataset)
	var held *erase.HeldError
	if err := erase.CheckRestore(ctx, tbl, req.SnapshotID); errors.As(err, &held) {
		return errorf(http.StatusConflict, "%v", err)
	} else if err != nil {
		return s.internal("read the table's pending erasures", err)
	}
	snap, err := tbl.Rollback(ctx, req.SnapshotID, run)
	switch {
	case errors.Is(err, iceberg.ErrNoTable):
		return errorf(http.StatusNotFound, "%s has no curated table yet: it is made by the first promotion", dataset)
	case err != nil && strings.Contains(err.Error(), "no snapshot"):
		return errorf(http.StatusBadRequest, "%v", err)
	case err != nil:
		return s.internal("roll the table back", err)
	}
	rec.QueryID = fmt.Sprint(snap.SnapshotID)
	return jsonResponse(http.StatusOK, RolledBack{Dataset: dataset, SnapshotID: snap.SnapshotID, RestoredID: req.SnapshotID, Run: run})
}
