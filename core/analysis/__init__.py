"""Analysis: the tables behind the Data, Compare and Résumé pages (pure pandas)."""
