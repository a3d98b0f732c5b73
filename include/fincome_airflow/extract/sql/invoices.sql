-- Invoices of one load, one row per invoice line, ordered by invoice then line.
--
-- Scope: the invoices dated in the billing month, every invoice updated since the watermark of
-- the last successful load, and the invoices still pending from earlier runs.
-- An invoice without lines gives one row whose line columns are null.
-- The ref_* columns resolve the invoice's references in the ERP (null when not found).
--
-- Parameters: month_start (date, inclusive), month_end (date, exclusive),
-- watermark (timestamp), pending_ids (list of invoice numbers).
-- A deployment whose ERP differs rewrites this query, keeping the output columns.
SELECT
  i.invoice_no,
  i.cust_no,
  i.contract_no,
  i.invoice_date,
  i.due_date,
  i.doc_status,
  i.currency,
  i.total_net,
  i.total_tax,
  i.updated_at,
  ct.cust_no  AS ref_contract_cust_no,
  ct.currency AS ref_contract_currency,
  cu.cust_no  AS ref_cust_no,
  l.line_no,
  l.description,
  l.line_kind,
  l.service_from,
  l.service_to,
  l.quantity,
  l.net_amount
FROM invoices AS i
LEFT JOIN contracts AS ct ON ct.contract_no = i.contract_no
LEFT JOIN customers AS cu ON cu.cust_no = i.cust_no
LEFT JOIN invoice_lines AS l ON l.invoice_no = i.invoice_no
WHERE (i.invoice_date >= :month_start AND i.invoice_date < :month_end)
   OR i.updated_at > :watermark
   OR i.invoice_no IN :pending_ids
ORDER BY i.invoice_no, l.line_no
