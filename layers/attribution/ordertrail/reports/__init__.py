"""The read side: reports, insights, the per-order document, CSV downloads and the dashboard."""
