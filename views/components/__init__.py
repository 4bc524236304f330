"""Page pieces shared by several views: widgets, access checks."""
