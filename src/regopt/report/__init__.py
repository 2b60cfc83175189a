"""`regopt-report`: tables and figures for one run or a whole sweep, from the local records only."""
