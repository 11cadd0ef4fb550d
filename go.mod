module github.com/rillstreams/rill

go 1.27

toolchain go1.27.4

require (
	github.com/google/btree v1.1.3
	github.com/linxGnu/grocksdb v1.7.14
	go.uber.org/zap v1.28.0
)

require go.uber.org/multierr v1.10.0 // indirect
