-- Customer numbers changed since the watermark (through the updated_at index): an intraday
-- sync reads again the pending refusals that refer to them (extract/rereads.py).
--
-- Parameters: watermark (timestamp).
SELECT c.cust_no AS record_id
FROM customers AS c
WHERE c.updated_at > :watermark
