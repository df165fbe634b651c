package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/mlpsweep/mlpsweep/datasets"
	"github.com/mlpsweep/mlpsweep/internal/atomicfile"
	"github.com/mlpsweep/mlpsweep/kernels"
)

// ModelInfo is what a model file records besides the network itself.
type ModelInfo struct {
	Engine     string             `json:"engine"`             // Identity() of the engine that trained the model
	Data       string             `json:"data"`               // the training data's name
	DataSHA256 string             `json:"data_sha256"`        // its datasets Fingerprint
	Classes    []string           `json:"classes"`            // [Out] each class's label; nil: the class indices
	Scaling    *datasets.Scaling  `json:"scaling"`            // raw CSV features → inputs; nil: inputs as given (MNIST: pixels/255)
	Features   []string           `json:"features,omitempty"` // [In] the CSV header's feature names, in input order; nil: not known (IDX, headerless CSV, older files)
	Metrics    map[string]float64 `json:"metrics"`            // training figures, e.g. test_accuracy (finite values only)
}

// File layout (safetensors.go): tensors named after Keras's layers, in
// forward order, all F32:
//
//	dense_l.kernel [d_{l−1}, d_l]   dense_l.bias [d_l]              l = 1 … L
//	batch_norm_l.gamma, .beta, .moving_mean, .moving_variance [H_l]   with batch norm
//
// and, in checkpoints only, optimizer.slot1 and optimizer.slot2 [P] (those
// the optimizer has) and fit.order [n] (I64). The metadata keys are
// mlpsweep.format ("model 1" or "checkpoint 1"), mlpsweep.config (Config
// as JSON), mlpsweep.inputs and mlpsweep.outputs, mlpsweep.info (ModelInfo
// as JSON) and, in checkpoints, mlpsweep.fit (fitState as JSON).
const (
	formatModel      = "model 1"
	formatCheckpoint = "checkpoint 1"
	formatMember     = "member 1" // MemberState: a group member's training state, without the group's row order
	// baseBufferFloats + bufferFloatsPerParam·P bound the buffers a loaded
	// file of P parameters may make New allocate, so that a small crafted
	// file (a huge batch) cannot exhaust memory: 128 MiB of float32s covers
	// any batch up to 1024 of a network whose layers hold under 16,000
	// units in all, and 64 per parameter covers wider ones (their buffers
	// per parameter shrink with the width), while a file of a few KB asks
	// for at most about 128 MiB.
	baseBufferFloats     = 1 << 25
	bufferFloatsPerParam = 64
	// maxFileBytes bounds a model file or checkpoint as a whole (1 GiB):
	// its header is read first, and a file announcing more is refused
	// before its data is read.
	maxFileBytes = 1 << 30
	// metaChecksum is the metadata key of a checkpoint's checksum:
	// "sha256:" and the hex SHA-256 of the file as written without this
	// key. It makes a checkpoint altered by hand or damaged on disk fail
	// to load; it is no signature (anyone can recompute it).
	metaChecksum = "mlpsweep.checksum"
)

// fitState is the part of a checkpoint that lets Fit continue.
type fitState struct {
	Epoch   int    `json:"epoch"`   // epochs completed
	Steps   int64  `json:"steps"`   // optimizer steps taken
	Shuffle []byte `json:"shuffle"` // the shuffle stream's PCG state
	Dropout []byte `json:"dropout"` // the dropout stream's PCG state
}

// Save writes the model's network (weights, biases, batch norm's γ, β and
// moving statistics), configuration and info to path atomically (a
// temporary file renamed over path). A model with a non-finite parameter
// (one that diverged) or a non-finite metric is refused.
func (m *Model) Save(path string, info ModelInfo) error {
	return m.save(path, info, false)
}

// SaveCheckpoint writes what Save writes plus everything the current Fit
// needs to continue bit-identically (optimizer state and step count, both
// random streams, the row order and the epochs completed), atomically.
// Call it from Fit's onEpoch; LoadCheckpoint reads it back.
func (m *Model) SaveCheckpoint(path string, info ModelInfo) error {
	return m.save(path, info, true)
}

func (m *Model) save(path string, info ModelInfo, checkpoint bool) error {
	b, err := m.encode(info, checkpoint)
	if err != nil {
		return fmt.Errorf("engine: %s: %v", path, err)
	}
	return atomicfile.Write(path, b)
}

// encode returns the file's bytes.
func (m *Model) encode(info ModelInfo, checkpoint bool) ([]byte, error) {
	if checkpoint {
		return m.encodeFormat(info, formatCheckpoint)
	}
	return m.encodeFormat(info, formatModel)
}

// encodeFormat returns the bytes of a file of format: formatModel,
// formatCheckpoint or formatMember.
func (m *Model) encodeFormat(info ModelInfo, format string) ([]byte, error) {
	for _, buf := range [][]float32{m.params, m.moving} {
		for _, v := range buf {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("the model has non-finite parameters (training diverged?); not saved")
			}
		}
	}
	for k, v := range info.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metric %s is %v; model files hold finite metrics only", k, v)
		}
	}
	if info.Classes != nil && len(info.Classes) != m.out {
		return nil, fmt.Errorf("%d class labels for %d outputs", len(info.Classes), m.out)
	}
	if info.Scaling != nil && len(info.Scaling.Unit) != m.in {
		return nil, fmt.Errorf("scaling of %d features for %d inputs", len(info.Scaling.Unit), m.in)
	}
	if info.Features != nil && len(info.Features) != m.in {
		return nil, fmt.Errorf("%d feature names for %d inputs", len(info.Features), m.in)
	}
	cfg, _ := json.Marshal(m.cfg)
	inf, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{
		"mlpsweep.format": formatModel, "mlpsweep.config": string(cfg), "mlpsweep.info": string(inf),
		"mlpsweep.inputs": strconv.Itoa(m.in), "mlpsweep.outputs": strconv.Itoa(m.out),
	}
	tensors := m.tensors()
	meta["mlpsweep.format"] = format
	switch {
	case format == formatCheckpoint && (m.fitBy != m.solo || m.solo.epoch < 1):
		return nil, fmt.Errorf("a checkpoint is the state of Model.Fit after an epoch (call SaveCheckpoint from its onEpoch); this model was not trained by Model.Fit or not for an epoch yet")
	case format == formatMember && (m.fitBy == nil || m.fitBy.epoch < 1):
		return nil, fmt.Errorf("a member's state is its state after an epoch of its group's Fit or FitTo; this model has not trained an epoch")
	}
	if format != formatModel {
		st := fitState{Epoch: m.fitBy.epoch, Steps: m.opt.t}
		st.Shuffle, _ = m.shuffleRNG.src.MarshalBinary()
		st.Dropout, _ = m.dropoutRNG.src.MarshalBinary()
		b, _ := json.Marshal(st)
		meta["mlpsweep.fit"] = string(b)
		for i, s := range [][]float32{m.opt.s1, m.opt.s2} {
			if len(s) > 0 {
				tensors = append(tensors, stTensor{name: fmt.Sprintf("optimizer.slot%d", i+1), shape: []int{len(s)}, f32: s})
			}
		}
	}
	if format == formatCheckpoint {
		order := make([]int64, len(m.solo.order))
		for i, r := range m.solo.order {
			order[i] = int64(r)
		}
		tensors = append(tensors, stTensor{name: "fit.order", shape: []int{len(order)}, i64: order})
	}
	if format != formatModel {
		sum, err := checksum(tensors, meta)
		if err != nil {
			return nil, err
		}
		meta[metaChecksum] = sum
	}
	var buf bytes.Buffer
	if err := writeSafetensors(&buf, tensors, meta); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tensors returns views of the network's parameters and moving statistics
// under their file names.
func (m *Model) tensors() []stTensor {
	var ts []stTensor
	for i, d := range m.layers {
		l := i + 1
		ts = append(ts,
			stTensor{name: fmt.Sprintf("dense_%d.kernel", l), shape: []int{d.in, d.out}, f32: d.w},
			stTensor{name: fmt.Sprintf("dense_%d.bias", l), shape: []int{d.out}, f32: d.b})
		if bn := d.bn; bn != nil {
			for _, t := range []struct {
				what string
				v    []float32
			}{{"gamma", bn.gamma}, {"beta", bn.beta}, {"moving_mean", bn.movingMean}, {"moving_variance", bn.movingVar}} {
				ts = append(ts, stTensor{name: fmt.Sprintf("batch_norm_%d.%s", l, t.what), shape: []int{d.out}, f32: t.v})
			}
		}
	}
	return ts
}

// Load reads a model file written by Save (or a checkpoint, whose training
// state it ignores) and returns the model, ready to Predict, Evaluate or
// train further, with its info. kc runs the kernels (nil: one thread). It
// checks the whole file: the format's rules, the configuration, every
// tensor's name, shape and dtype against it, and finite values; a
// truncated or altered file is an error saying what is wrong.
func Load(path string, kc *kernels.Context) (*Model, ModelInfo, error) {
	b, err := readSafetensorsFile(path, maxFileBytes)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	m, info, _, err := decodeModel(b, kc, false)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, info, nil
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint. The next Fit
// on the returned model continues the checkpointed one: it runs the epochs
// after the checkpoint's on the same training rows (which it checks), and
// ends bit-identical to the run that was never interrupted, given the same
// kernels ISA path and thread count. It returns the epochs completed.
func LoadCheckpoint(path string, kc *kernels.Context) (*Model, ModelInfo, int, error) {
	b, err := readSafetensorsFile(path, maxFileBytes)
	if err != nil {
		return nil, ModelInfo{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	m, info, epoch, err := decodeModel(b, kc, true)
	if err != nil {
		return nil, ModelInfo{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	return m, info, epoch, nil
}

// decodeModel builds a model from a file's bytes; with checkpoint it
// restores the training state too (and requires it).
func decodeModel(b []byte, kc *kernels.Context, checkpoint bool) (*Model, ModelInfo, int, error) {
	if checkpoint {
		return decodeFormat(b, kc, formatCheckpoint)
	}
	return decodeFormat(b, kc, formatModel)
}

// decodeFormat is decodeModel for kind formatModel (a model file or a
// checkpoint, its training state ignored), formatCheckpoint or
// formatMember (restoring the training state).
func decodeFormat(b []byte, kc *kernels.Context, kind string) (*Model, ModelInfo, int, error) {
	checkpoint := kind != formatModel
	var info ModelInfo
	tensors, meta, err := readSafetensors(b)
	if err != nil {
		return nil, info, 0, err
	}
	format := meta["mlpsweep.format"]
	switch {
	case format == formatMember && kind != formatMember:
		return nil, info, 0, fmt.Errorf("a group member's training state (mlpsweep's queue keeps these in its store), not a model file or a checkpoint")
	case format != formatModel && format != formatCheckpoint && format != formatMember:
		return nil, info, 0, fmt.Errorf("metadata mlpsweep.format is %q: not an mlpsweep model file", format)
	case checkpoint && format == formatModel:
		return nil, info, 0, fmt.Errorf("a model file, not a checkpoint: it has no training state to resume")
	case checkpoint && format != kind:
		return nil, info, 0, fmt.Errorf("metadata mlpsweep.format is %q where %q was wanted", format, kind)
	case format != formatModel:
		if err := verifyChecksum(tensors, meta); err != nil {
			return nil, info, 0, err
		}
	}
	var cfg Config
	if err := strictJSON(meta["mlpsweep.config"], &cfg); err != nil {
		return nil, info, 0, fmt.Errorf("metadata mlpsweep.config: %v", err)
	}
	if err := strictJSON(meta["mlpsweep.info"], &info); err != nil {
		return nil, info, 0, fmt.Errorf("metadata mlpsweep.info: %v", err)
	}
	in, err1 := strconv.Atoi(meta["mlpsweep.inputs"])
	out, err2 := strconv.Atoi(meta["mlpsweep.outputs"])
	if err1 != nil || err2 != nil || in < 1 || out < 2 {
		return nil, info, 0, fmt.Errorf("metadata: inputs %q and outputs %q (want ≥ 1 and ≥ 2)", meta["mlpsweep.inputs"], meta["mlpsweep.outputs"])
	}
	norm, err := cfg.Normalized()
	if err != nil {
		return nil, info, 0, fmt.Errorf("metadata mlpsweep.config: %v", err)
	}
	if err := checkInfo(info, in, out); err != nil {
		return nil, info, 0, err
	}
	if err := checkBuffers(norm.cfg, in, out, len(b)); err != nil {
		return nil, info, 0, err
	}
	m, err := NewNormalized(norm, in, out, kc)
	if err != nil {
		return nil, info, 0, err
	}
	want := m.tensors()
	var st fitState
	if checkpoint {
		if err := strictJSON(meta["mlpsweep.fit"], &st); err != nil {
			return nil, info, 0, fmt.Errorf("metadata mlpsweep.fit: %v", err)
		}
		for i, s := range [][]float32{m.opt.s1, m.opt.s2} {
			if len(s) > 0 {
				want = append(want, stTensor{name: fmt.Sprintf("optimizer.slot%d", i+1), shape: []int{len(s)}, f32: s})
			}
		}
	}
	for _, w := range want {
		t, ok := tensors[w.name]
		switch {
		case !ok:
			return nil, info, 0, fmt.Errorf("tensor %s is missing (the configuration needs it)", w.name)
		case t.f32 == nil && len(w.f32) > 0:
			return nil, info, 0, fmt.Errorf("tensor %s has dtype %s (want F32)", w.name, t.dtype())
		case !slices.Equal(t.shape, w.shape):
			return nil, info, 0, fmt.Errorf("tensor %s has shape %v; the configuration (%d inputs, hidden %s, %d outputs) needs %v", w.name, t.shape, in, hiddenText(norm.Hidden()), out, w.shape)
		}
		for i, v := range t.f32 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, info, 0, fmt.Errorf("tensor %s holds %v at index %d (want finite values)", w.name, v, i)
			}
		}
		copy(w.f32, t.f32)
		delete(tensors, w.name)
	}
	if checkpoint {
		if err := m.opt.checkState(); err != nil {
			return nil, info, 0, err
		}
	}
	switch kind {
	case formatCheckpoint:
		if err := m.restoreFit(st, tensors["fit.order"]); err != nil {
			return nil, info, 0, err
		}
	case formatMember:
		if err := m.restoreMember(st); err != nil {
			return nil, info, 0, err
		}
	}
	if format == formatCheckpoint { // Load ignores the training state
		for _, name := range []string{"fit.order", "optimizer.slot1", "optimizer.slot2"} {
			delete(tensors, name)
		}
	}
	for name := range tensors {
		return nil, info, 0, fmt.Errorf("tensor %s is not part of this configuration", name)
	}
	return m, info, st.Epoch, nil
}

// checksum returns the metaChecksum value of a file of tensors (in file
// order) and meta, meta without that key.
func checksum(tensors []stTensor, meta map[string]string) (string, error) {
	without := make(map[string]string, len(meta))
	for k, v := range meta {
		if k != metaChecksum {
			without[k] = v
		}
	}
	h := sha256.New()
	if err := writeSafetensors(h, tensors, without); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// verifyChecksum checks a checkpoint's checksum against its content.
func verifyChecksum(tensors map[string]stTensor, meta map[string]string) error {
	stored, ok := meta[metaChecksum]
	if !ok {
		return fmt.Errorf("metadata %s is missing: a checkpoint carries a checksum (written by an older mlpsweep? start the training again)", metaChecksum)
	}
	sum, err := checksum(inFileOrder(tensors), meta)
	if err != nil {
		return err
	}
	if sum != stored {
		return fmt.Errorf("the checkpoint does not match its checksum (%s): it was altered or damaged after it was written; start the training again or use another checkpoint", metaChecksum)
	}
	return nil
}

// restoreFit sets the training state of a checkpoint.
func (m *Model) restoreFit(st fitState, order stTensor) error {
	if err := m.restoreMember(st); err != nil {
		return err
	}
	if order.i64 == nil || len(order.shape) != 1 || len(order.i64) == 0 {
		return fmt.Errorf("tensor fit.order is missing or not a non-empty I64 vector")
	}
	g := m.solo
	g.order = make([]int, len(order.i64))
	for i, r := range order.i64 {
		if r < 0 || r > math.MaxInt32 {
			return fmt.Errorf("tensor fit.order holds row %d", r)
		}
		g.order[i] = int(r)
	}
	m.opt.t = st.Steps
	g.epoch, g.resume = st.Epoch, true
	return nil
}

// checkInfo checks the info's classes and scaling against the network.
func checkInfo(info ModelInfo, in, out int) error {
	if info.Classes != nil && len(info.Classes) != out {
		return fmt.Errorf("metadata: %d class labels for %d outputs", len(info.Classes), out)
	}
	if info.Features != nil && len(info.Features) != in {
		return fmt.Errorf("metadata: %d feature names for %d inputs", len(info.Features), in)
	}
	if s := info.Scaling; s != nil {
		if err := s.Check(); err != nil {
			return fmt.Errorf("metadata: %v", err)
		}
		if len(s.Unit) != in {
			return fmt.Errorf("metadata: scaling of %d features for %d inputs", len(s.Unit), in)
		}
	}
	for k, v := range info.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("metadata: metric %s is %v", k, v)
		}
	}
	return nil
}

// checkBuffers refuses a configuration whose parameters could not be in a
// file of fileBytes bytes, or whose training and evaluation buffers would
// exceed baseBufferFloats + bufferFloatsPerParam·P, before New allocates
// them.
func checkBuffers(cfg Config, in, out, fileBytes int) error {
	widths := append(append([]int{in}, cfg.Hidden...), out)
	var params, rows float64
	for l := 1; l < len(widths); l++ {
		params += float64(widths[l-1])*float64(widths[l]) + float64(widths[l])
		rows += float64(widths[l-1]) + 4*float64(widths[l]) // x or a, y, dy, mask
	}
	if params*4 > float64(fileBytes) {
		return fmt.Errorf("the configuration (%d inputs, hidden %s, %d outputs) has %.0f parameters, more than the %d-byte file holds (truncated?)", in, hiddenText(cfg.Hidden), out, params, fileBytes)
	}
	limit := baseBufferFloats + bufferFloatsPerParam*params
	if buffers := float64(cfg.Batch+evalChunk(cfg.Batch)) * rows; buffers > limit {
		return fmt.Errorf("the configuration (batch %d, hidden %s) needs %.0f floats of buffers, more than a model file of %.0f parameters may ask for (%.0f)", cfg.Batch, hiddenText(cfg.Hidden), buffers, params, limit)
	}
	return nil
}

// strictJSON decodes s into v, refusing unknown fields and trailing data.
func strictJSON(s string, v any) error {
	if s == "" {
		return fmt.Errorf("missing")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
