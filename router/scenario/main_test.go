package scenario_test

import (
	"os"
	"testing"

	"metacdn/fixtures"
)

func TestMain(m *testing.M) { os.Exit(fixtures.RunTests(m)) }
