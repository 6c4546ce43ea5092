"""The built-in demo and the test doubles: demo inputs, the portal simulator, synthetic inputs at
national scale. Only the command line and the Dagster resource choose it; production code never
imports it."""
