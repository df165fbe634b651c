package engine

import (
	"fmt"

	"github.com/mlpsweep/mlpsweep/kernels"
)

// MemberState returns m's training state after the last epoch its group's
// Fit or FitTo completed (m alone is a group of one): what a model file
// holds plus the optimizer's slots and step count, both random streams
// and the epochs completed, in the safetensors layout of a checkpoint
// (format "member 1"). Unlike a checkpoint it holds no row order: the
// order belongs to the group (all members of a group draw the same one
// from the shuffle seed), and Group.Seek redraws it. A worker that took
// a group to a pruner's rung stores its members' states; another
// continues them with LoadMemberState, NewGroup with the same shuffle
// seed, Seek to the epochs and FitTo, bit-identical to a group that never
// stopped (same ISA path and thread count).
func (m *Model) MemberState() ([]byte, error) {
	return m.encodeFormat(ModelInfo{}, formatMember)
}

// LoadMemberState reads a state written by MemberState, checked as Load
// checks a model file, and returns the model and the epochs it completed.
// kc runs the kernels (nil: one thread).
func LoadMemberState(b []byte, kc *kernels.Context) (*Model, int, error) {
	m, _, epochs, err := decodeFormat(b, kc, formatMember)
	if err != nil {
		return nil, 0, fmt.Errorf("engine: member state: %w", err)
	}
	return m, epochs, nil
}

// restoreMember sets the training state of a member's state (its group's
// Seek sets the rest), or a checkpoint's but the row order (restoreFit).
func (m *Model) restoreMember(st fitState) error {
	if st.Epoch < 1 || st.Epoch > m.cfg.Epochs || st.Steps < 1 {
		return fmt.Errorf("metadata mlpsweep.fit: epoch %d of %d after %d steps", st.Epoch, m.cfg.Epochs, st.Steps)
	}
	if err := m.shuffleRNG.src.UnmarshalBinary(st.Shuffle); err != nil {
		return fmt.Errorf("metadata mlpsweep.fit: shuffle state: %v", err)
	}
	if err := m.dropoutRNG.src.UnmarshalBinary(st.Dropout); err != nil {
		return fmt.Errorf("metadata mlpsweep.fit: dropout state: %v", err)
	}
	m.opt.t = st.Steps
	return nil
}
