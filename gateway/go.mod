module github.com/altus4/altus/gateway

go 1.26.0

replace github.com/altus4/altus/pkg => ../pkg
