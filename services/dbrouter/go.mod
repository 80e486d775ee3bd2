module github.com/altus4/altus/services/dbrouter

go 1.26.0

replace github.com/altus4/altus/pkg => ../../pkg
