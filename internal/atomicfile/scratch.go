package atomicfile

import "os"

// Scratch creates a 0600 file in the temporary directory for data kept
// only while the process runs (a spill): unnamed where the system allows
// (O_TMPFILE, so no other process can open it and nothing is left behind
// if the process is killed), else removed at once after its creation.
// name is set when the file could not be removed: the caller removes it
// when done.
func Scratch(pattern string) (f *os.File, name string, err error) {
	if f, ok := createUnnamed(os.TempDir(), 0o600); ok {
		return f, "", nil
	}
	f, err = os.CreateTemp("", pattern) // created 0600
	if err != nil {
		return nil, "", err
	}
	if os.Remove(f.Name()) != nil {
		name = f.Name()
	}
	return f, name, nil
}
