package recipes

import (
	"reflect"
	"slices"
	"strings"
)

// DecodeKeys lists the keys of a task type's options that change how a
// trained model decodes or scores, never its weights (the fields tagged
// decode:"true", such as task.beam): the overrides that seqkit eval, predict
// and generate accept, since a trained model cannot take any other.
func DecodeKeys(tasks TaskTypes, typ string) []string {
	if tasks == nil {
		return nil
	}
	opts, ok := tasks.TaskOptions(typ)
	if !ok {
		return nil
	}
	var keys []string
	for name, f := range recipeFields(reflect.TypeOf(opts).Elem()) {
		if f.Tag.Get("decode") == "true" {
			keys = append(keys, "task."+name)
		}
	}
	slices.Sort(keys)
	return keys
}

// CheckDecodeSets reports, as [Errors], every override in sets (KEY=VALUE)
// whose key is not one of typ's DecodeKeys: an override that would change a
// trained model.
func CheckDecodeSets(tasks TaskTypes, typ string, sets []string) error {
	keys := DecodeKeys(tasks, typ)
	var errs Errors
	for _, s := range sets {
		key, _, _ := strings.Cut(s, "=")
		if slices.Contains(keys, key) {
			continue
		}
		msg := "is fixed by training; a trained " + typ + " model takes no --set"
		if len(keys) > 0 {
			msg += " but how it decodes: " + strings.Join(keys, ", ")
		}
		errs = append(errs, &Error{File: "--set " + s, Key: key, Msg: msg})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
