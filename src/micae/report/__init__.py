"""Reports: report.json / report.md / report.html and the plots they show."""
