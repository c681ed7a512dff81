//go:build !unix

package vault

import "context"

// lockFile is a no-op where flock is not available: run one writer at a time.
func lockFile(ctx context.Context, path string) (func(), error) { return func() {}, nil }
