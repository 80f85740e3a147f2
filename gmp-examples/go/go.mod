module gmpbench

go 1.23
