module github.com/altus4/altus/services/cache

go 1.26.0

replace github.com/altus4/altus/pkg => ../../pkg
