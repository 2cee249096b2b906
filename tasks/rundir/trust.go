package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Inside checks that what a model folder holds under the names rels (files or
// folders, walked) stays inside it: no symbolic link that leads out of dir. A
// model folder comes from elsewhere (a download, a colleague); loading it must
// not read, say, ~/.ssh through a link planted in checkpoints/best. Paths never
// come from the files' content: recipe.yaml's extends is refused on load, and the
// checkpoint names are fixed.
func Inside(dir string, rels ...string) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrRunDir, dir, err)
	}
	for _, rel := range rels {
		err := filepath.WalkDir(filepath.Join(dir, rel), func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // missing files are reported by whoever needs them
			}
			if err != nil {
				return err
			}
			if d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			to, err := filepath.EvalSymlinks(p)
			if err != nil {
				return fmt.Errorf("%w %s: %s is a broken symbolic link: %v", ErrRunDir, dir, p, err)
			}
			if r, err := filepath.Rel(root, to); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(os.PathSeparator)) {
				return fmt.Errorf("%w %s: %s links to %s, outside the model folder; seqkit loads only files inside it (copy the file in instead)", ErrRunDir, dir, p, to)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
