module github.com/rillstreams/rill

go 1.27

toolchain go1.27.4
