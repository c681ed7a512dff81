package shipment

import "testing"

func TestSFTPLocation(t *testing.T) {
	for _, c := range []struct {
		host string
		port int
		path string
		want string
	}{
		{"127.0.0.1", 22, "/incoming/a.pgp", "sftp://127.0.0.1/incoming/a.pgp"},
		{"127.0.0.1", 0, "/a.pgp", "sftp://127.0.0.1/a.pgp"},
		{"127.0.0.1", 2222, "/home/p/incoming/a.pgp", "sftp://127.0.0.1:2222/home/p/incoming/a.pgp"},
		{"sftp.example.test", 2022, "incoming/a.pgp", "sftp://sftp.example.test:2022/incoming/a.pgp"},
		{"::1", 2022, "/a b#1.pgp", "sftp://[::1]:2022/a%20b%231.pgp"},
		{"::1", 22, "/a.pgp", "sftp://[::1]/a.pgp"},
	} {
		if got := SFTPLocation(c.host, c.port, c.path); got != c.want {
			t.Errorf("SFTPLocation(%q, %d, %q) = %q, want %q", c.host, c.port, c.path, got, c.want)
		}
	}
}
