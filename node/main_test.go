package node_test

import (
	"os"
	"testing"

	"metacdn/fixtures"
)

// TestMain removes the programs the tests built (fixtures.Binary).
func TestMain(m *testing.M) { os.Exit(fixtures.RunTests(m)) }
