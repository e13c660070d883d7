package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/erase"
)

// Eraser carries out POST /erase; *erase.Eraser is one.
type Eraser interface {
	Erase(ctx context.Context, req erase.Request) (*erase.Report, error)
}

// erase answers POST /erase {"dataset": ..., "key": ..., "field": ...}: every row of the key
// removed from every zone (shared/erase), and the report of what was done.
func (s *Service) erase(ctx context.Context, r Request, rec *audit.Record) Response {
	rec.Request = `{"key":"(not recorded)"}`
	if r.Method != http.MethodPost {
		return errorf(http.StatusMethodNotAllowed, "use POST /erase with {\"dataset\": \"...\", \"key\": \"...\"} (and \"field\" to erase by another column than the key)")
	}
	if s.Erase == nil {
		return errorf(http.StatusNotFound, "this API erases nothing: give the service the zone buckets (the query function does when SLUICE_ERASE is set)")
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	var req erase.Request
	if err := dec.Decode(&req); err != nil {
		return errorf(http.StatusBadRequest, "give {\"dataset\": \"...\", \"key\": \"...\"} and optionally \"field\": the body is not that (%v)", err)
	}
	// The audit trail notes which dataset and field, never the key, or it would keep what
	// was erased.
	note, _ := json.Marshal(map[string]string{"dataset": clip(req.Dataset), "field": clip(req.Field), "key": "(not recorded)"})
	rec.Request = string(note)
	rec.Datasets, rec.Zones = req.Dataset, "raw,cleansed,quarantine,curated"
	if s.Compiler == nil || s.Compiler.Contracts[req.Dataset] == nil {
		return errorf(http.StatusNotFound, "no dataset %q", clip(req.Dataset))
	}
	if err := s.Compiler.Access.Manage(r.Caller, req.Dataset); err != nil {
		return badRequest(err)
	}
	req.Run = "erase-" + r.RequestID
	rec.QueryID = req.Run
	rep, err := s.Erase.Erase(ctx, req)
	if errors.Is(err, erase.ErrInvalid) {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	if err != nil {
		return s.internal("erase the key", err)
	}
	return jsonResponse(http.StatusOK, rep)
}
