"""CSV/XLSX uploads: reading a file, previewing it, confirming it into an import job."""
