package oracle

import (
	"encoding/json"
	"fmt"
)

// FamilyReport is what a run of one family found.
type FamilyReport struct {
	Family string
	// Cases is how many cases ran; Mismatches how many differed (not allowed); Allowed how
	// many differed as the allow-list permits.
	Cases, Mismatches, Allowed int
	// Reproducers are the first mismatches, shrunk, rendered side by side with the case JSON.
	Reproducers []string
}

func (r FamilyReport) String() string {
	return fmt.Sprintf("%-9s cases %5d  mismatches %4d  allowed %4d", r.Family, r.Cases, r.Mismatches, r.Allowed)
}

// RunFamily runs cases 0..n-1 of family from seed and shrinks the first keep mismatches.
func (o *Oracle) RunFamily(seed uint64, family string, n, keep int) (FamilyReport, error) {
	rep := FamilyReport{Family: family}
	for i := range n {
		c := Generate(seed, family, i)
		rill, kafka, err := o.Compare(c)
		if err != nil {
			return rep, err
		}
		rep.Cases++
		if Same(rill, kafka) {
			continue
		}
		if allowed(c, rill, kafka) != "" {
			rep.Allowed++
			continue
		}
		rep.Mismatches++
		if len(rep.Reproducers) >= keep {
			continue
		}
		if rill.Error == "" && kafka.Error == "" {
			if c, err = o.Shrink(c); err != nil {
				return rep, err
			}
			if rill, kafka, err = o.Compare(c); err != nil {
				return rep, err
			}
		}
		js, _ := json.Marshal(c)
		rep.Reproducers = append(rep.Reproducers, SideBySide(c, rill, kafka)+"json: "+string(js)+"\n")
	}
	return rep, nil
}
