package tagging_test

import (
	"context"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/tagging"
)

func registry(t *testing.T) *tasks.Registry {
	var reg tasks.Registry
	if err := reg.Register(tagging.Type()); err != nil {
		t.Fatal(err)
	}
	return &reg
}

// TestTaipei trains the built-in demo in-process and checks that it tells the
// destination from the origin.
func TestTaipei(t *testing.T) {
	reg := registry(t)
	r, err := recipes.Load("taipei", recipes.Options{Tasks: reg})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/run"
	res, err := tasks.Run(context.Background(), r, tasks.RunOptions{Dir: dir, Registry: reg, Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dev %v test %v steps %d in %v", res.Dev, res.Test, res.Train.Steps, res.Train.Elapsed)
	for _, ex := range res.Examples {
		t.Logf("%v", ex)
	}
	want := []string{"O B-toloc.city_name O B-arrive_date.month_name B-arrive_date.day_number",
		"O B-fromloc.city_name O B-depart_date.month_name B-depart_date.day_number"}
	for i, ex := range res.Examples {
		if got := strings.Join(ex["tags"].([]string), " "); got != want[i] {
			t.Errorf("%q: tags %q, want %q", ex["text"], ex["tags"], want[i])
		}
	}
	if f := res.Test["f1"]; f < 95 {
		t.Errorf("test F1 %.2f, want at least 95 on the generated grammar", f)
	}
}
