package bootclock

import "time"

var epoch = time.Now()

func monotonic() time.Duration { return time.Since(epoch) }
