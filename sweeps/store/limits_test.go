package store

import (
	"context"
	"strings"
	"testing"
)

// TestHostileStudyRows: a database is data (shared, possibly edited): a
// study row claiming 10⁹ folds or epochs, more trainings than a study may
// hold, or a schedule beyond a study file's, is refused when read, before
// anything is sized by it.
func TestHostileStudyRows(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, loc string) {
		h, points := testStudy(t, "fine")
		s := mustOpen(t, b.writer, loc)
		if err := s.SaveStudy(h, points); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ set, want string }{
			{"folds = 1000000000", "1000000000 folds (a study has 1 to 1048576)"},
			{"epochs = 1000000000000", "1000000000000 epochs"},
			{"folds = 1000000", "3 configurations × 1000000 folds = 3000000 trainings, over the limit"},
			// A live view replays the schedule: a sampler of 10¹² trials would keep it there.
			{`schedule = '{"trials": 1000000000000, "batch": 1}'`, "a sampler of 1000000000000 configurations in batches of 1 (a study has at most 20000)"},
			{`schedule = '{"rows": -5, "features": 784, "classes": 10}'`, "data of -5 rows, 784 features and 10 classes"},
		} {
			b.exec(t, loc, "UPDATE mlpsweep_study SET "+tc.set)
			_, _, err := s.Study(context.Background(), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: err = %v, want %q", tc.set, err, tc.want)
			}
			b.exec(t, loc, "UPDATE mlpsweep_study SET name = 'fine', folds = 2, epochs = 1, schedule = ''")
		}
	})
}
