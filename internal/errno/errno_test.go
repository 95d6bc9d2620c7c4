package errno

import (
	"context"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestIsTransient(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		want  bool
		space bool
	}{
		{"nil", nil, false, false},
		{"EINTR wrapped", &fs.PathError{Op: "open", Path: "x", Err: syscall.EINTR}, true, true},
		{"ESTALE", fmt.Errorf("read: %w", syscall.ESTALE), true, true},
		{"EBUSY", syscall.EBUSY, true, true},
		{"ENOSPC", syscall.ENOSPC, false, true},
		{"EACCES", syscall.EACCES, false, false},
		{"EROFS", syscall.EROFS, false, false},
		{"deadline", context.DeadlineExceeded, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTransient(tt.err); got != tt.want {
				t.Errorf("IsTransient(%v) = %v; want %v", tt.err, got, tt.want)
			}
			if got := IsTransientSpace(tt.err); got != tt.space {
				t.Errorf("IsTransientSpace(%v) = %v; want %v", tt.err, got, tt.space)
			}
		})
	}
	if got := Of(fmt.Errorf("x: %w", syscall.EXDEV)); got != syscall.EXDEV {
		t.Errorf("Of = %v; want EXDEV", got)
	}
}

func TestIsSyncRefusal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"EINVAL wrapped", &fs.PathError{Op: "sync", Path: "d", Err: syscall.EINVAL}, true},
		{"ENOTSUP", fmt.Errorf("fsync: %w", syscall.ENOTSUP), true},
		{"EOPNOTSUPP", syscall.EOPNOTSUPP, true},
		{"EIO", &fs.PathError{Op: "sync", Path: "d", Err: syscall.EIO}, false},
		{"ENOSYS", syscall.ENOSYS, false},
		{"EPERM", syscall.EPERM, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsSyncRefusal(tt.err); got != tt.want {
				t.Errorf("IsSyncRefusal(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
}
