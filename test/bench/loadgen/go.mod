module weft.dev/bench/loadgen

go 1.21
