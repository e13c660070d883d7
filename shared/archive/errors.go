package archive

import "time"

// ErrorRecord is the JSON document Firehose writes under the error prefix for each record it
// could not deliver, one per line. Conversion failures carry lastErrorCode and lastErrorMessage
// and the Glue table; processing (partitioning) failures carry errorCode and errorMessage.
type ErrorRecord struct {
	AttemptsMade           int    `json:"attemptsMade"`
	ArrivalTimestamp       int64  `json:"arrivalTimestamp"`
	ErrorCode              string `json:"errorCode,omitempty"`
	ErrorMessage           string `json:"errorMessage,omitempty"`
	LastErrorCode          string `json:"lastErrorCode,omitempty"`
	LastErrorMessage       string `json:"lastErrorMessage,omitempty"`
	AttemptEndingTimestamp int64  `json:"attemptEndingTimestamp"`
	// RawData is the record as it arrived; encoding/json writes it in base64, as Firehose does.
	RawData           []byte        `json:"rawData"`
	SequenceNumber    string        `json:"sequenceNumber,omitempty"`
	SubSequenceNumber *int64        `json:"subSequenceNumber,omitempty"`
	DataCatalogTable  *CatalogTable `json:"dataCatalogTable,omitempty"`
}

// CatalogTable names the Glue table a conversion failed against.
type CatalogTable struct {
	CatalogID    string `json:"catalogId,omitempty"`
	DatabaseName string `json:"databaseName"`
	TableName    string `json:"tableName"`
	Region       string `json:"region,omitempty"`
	VersionID    string `json:"versionId"`
	CatalogArn   string `json:"catalogArn,omitempty"`
}

// Error codes of the failures this archive reports.
const (
	// CodeMetadataExtraction: the partition query failed or gave no dt/hr.
	CodeMetadataExtraction = "DynamicPartitioning.MetadataExtractionFailed"
	// CodeMalformedData: the deserializer could not read the record into the schema.
	CodeMalformedData = "DataFormatConversion.MalformedData"
)

// NewErrorRecord describes one failed record of errorType.
func NewErrorRecord(errorType, code, message string, raw []byte, arrival, ended time.Time, seq string, table *CatalogTable) ErrorRecord {
	e := ErrorRecord{AttemptsMade: 1, ArrivalTimestamp: arrival.UnixMilli(), AttemptEndingTimestamp: ended.UnixMilli(),
		RawData: raw, SequenceNumber: seq}
	if errorType == FormatConversionFailed {
		e.LastErrorCode, e.LastErrorMessage, e.DataCatalogTable = code, message, table
		sub := int64(0)
		e.SubSequenceNumber = &sub
	} else {
		e.ErrorCode, e.ErrorMessage = code, message
	}
	return e
}
