"""What tests share besides fixtures: data makers, local fake servers, waits."""
