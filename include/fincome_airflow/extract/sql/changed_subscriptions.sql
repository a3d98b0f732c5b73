-- Contract numbers changed since the watermark (through the updated_at index): an intraday
-- sync reads again the pending refusals that refer to them (extract/rereads.py).
--
-- Parameters: watermark (timestamp).
SELECT ct.contract_no AS record_id
FROM contracts AS ct
WHERE ct.updated_at > :watermark
