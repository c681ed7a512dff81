package shipment

import (
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/transfer"
)

// DirSink delivers into a local directory through internal/atomicfile.
type DirSink struct {
	Dir string
	// Protect lists files that must never be overwritten (the inputs).
	Protect []string
}

// Deliver implements Sink.
func (s DirSink) Deliver(ctx context.Context, name string, fill func(io.Writer) error) (Delivery, error) {
	p := filepath.Join(s.Dir, name)
	if err := atomicfile.Write(ctx, p, atomicfile.Options{Perm: 0o644, Inputs: s.Protect}, fill); err != nil {
		return Delivery{}, err
	}
	return Delivery{Location: p, Verified: "written"}, nil
}

// SFTPSink uploads into a remote directory: temporary name, rename when
// complete, then size and (where readable) checksum verification.
type SFTPSink struct {
	Client    *transfer.Client
	Host      string
	Dir       string
	Overwrite bool
}

// Deliver implements Sink.
func (s SFTPSink) Deliver(ctx context.Context, name string, fill func(io.Writer) error) (Delivery, error) {
	p := path.Join(s.Dir, name)
	res, err := s.Client.Put(ctx, p, transfer.PutOptions{Overwrite: s.Overwrite}, fill)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{Location: fmt.Sprintf("sftp://%s%s", s.Host, res.Path), Verified: res.Verified}, nil
}
