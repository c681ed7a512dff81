package shipment

import (
	"context"
	"io"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"

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
	Port      int // 0 or 22: the default, left out of locations
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
	abs := res.Path
	if !path.IsAbs(abs) {
		// A directory relative to the login's home: the server says where
		// that is.
		if abs, err = s.Client.RealPath(ctx, res.Path); err != nil {
			return Delivery{}, err
		}
	}
	return Delivery{Location: SFTPLocation(s.Host, s.Port, abs), Verified: res.Verified}, nil
}

// SFTPLocation is the sftp:// URL of an absolute remote path: the port is
// shown when it is not 22, the path is escaped where it must be.
func SFTPLocation(host string, port int, remotePath string) string {
	h := host
	if port != 0 && port != 22 {
		h = net.JoinHostPort(host, strconv.Itoa(port))
	} else if strings.Contains(host, ":") {
		h = "[" + host + "]" // an IPv6 address
	}
	u := url.URL{Scheme: "sftp", Host: h, Path: path.Clean("/" + remotePath)}
	return u.String()
}
