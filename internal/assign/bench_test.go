package assign

import (
	"fmt"
	"testing"
)

// BenchmarkAssign: a large group, fresh and with one instance joining a settled assignment.
func BenchmarkAssign(b *testing.B) {
	for _, sz := range []struct{ clients, subs, parts int }{{10, 4, 32}, {50, 8, 64}, {100, 10, 100}} {
		tasks, stateful := tasksOf(sz.subs, sz.parts, sz.subs/2)
		in := Input{Clients: clientsOf(sz.clients, 2), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 1}
		b.Run(fmt.Sprintf("fresh/%dx%d", sz.clients, len(tasks)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Assign(in); err != nil {
					b.Fatal(err)
				}
			}
		})
		out, _ := Assign(in)
		join := nextRound(in, out)
		join.Clients = append(join.Clients, newClient("zz", 2))
		b.Run(fmt.Sprintf("join/%dx%d", sz.clients, len(tasks)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Assign(join); err != nil {
					b.Fatal(err)
				}
			}
		})
		leave := nextRound(in, out)
		leave.Clients = leave.Clients[1:]
		b.Run(fmt.Sprintf("leave/%dx%d", sz.clients, len(tasks)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Assign(leave); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
