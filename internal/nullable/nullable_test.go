package nullable

import "testing"

type iface interface{ M() }

func TestCanAndIsNil(t *testing.T) {
	var (
		p  *int
		s  []byte
		m  map[string]int
		i  iface
		e  any
		fn func()
	)
	check := func(name string, can, isNil bool, wantCan, wantNil bool) {
		t.Helper()
		if can != wantCan || isNil != wantNil {
			t.Errorf("%s: can %v nil %v, want %v %v", name, can, isNil, wantCan, wantNil)
		}
	}
	check("nil pointer", Can[*int](), For[*int]().IsNil(&p), true, true)
	check("nil slice", Can[[]byte](), For[[]byte]().IsNil(&s), true, true)
	check("nil map", Can[map[string]int](), For[map[string]int]().IsNil(&m), true, true)
	check("nil interface", Can[iface](), For[iface]().IsNil(&i), true, true)
	check("nil any", Can[any](), For[any]().IsNil(&e), true, true)
	check("nil func", Can[func()](), For[func()]().IsNil(&fn), true, true)
	x := 3
	p, s, m, e = &x, []byte{}, map[string]int{}, 0
	check("pointer", true, For[*int]().IsNil(&p), true, false)
	check("empty slice", true, For[[]byte]().IsNil(&s), true, false)
	check("empty map", true, For[map[string]int]().IsNil(&m), true, false)
	check("boxed zero", true, For[any]().IsNil(&e), true, false)
	zero, empty := 0, ""
	check("int", Can[int](), For[int]().IsNil(&zero), false, false)
	check("string", Can[string](), For[string]().IsNil(&empty), false, false)
	if For[string]().Can() || !For[*int]().Can() {
		t.Error("Check.Can disagrees with Can")
	}
}
