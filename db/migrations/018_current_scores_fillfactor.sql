-- Up Migration
-- Room on every page of the current-score table for the morning's new row versions (issue 14). An incremental
-- run rewrites about 1% of the leads' rows, scattered over every page; on full pages each new version went to
-- another page and needed a new entry in the primary key, so the upsert wrote four WAL records a row. With a
-- tenth of each page free (about four rows), the new version stays on its page as a heap-only tuple (HOT): no
-- index entry, three records a row, the old version pruned from the page by the next visit. Measured on the
-- 10,000-row upsert of an incremental morning into 1,000,000 rows (loaded machine): 40,000 WAL records and
-- 122-263 ms (median 205) at fillfactor 100, 30,000 records and 134-231 ms (median 136) at 90.
-- Rows written from now on honour it; pages written before fill up as they are.
alter table scoring.lead_scores set (fillfactor = 90);

-- Down Migration
alter table scoring.lead_scores reset (fillfactor);
