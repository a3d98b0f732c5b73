-- Invoices of one load, one row per invoice line, ordered by invoice then line.
--
-- Scope: the invoices dated in the billing month, every invoice updated since the watermark of
-- the last successful load, the invoices still pending from earlier runs, and the invoices
-- credited by the load's credit notes (see credit_notes.sql), whatever their month.
-- (Scopes are joined, not tested with IN (subquery) inside an OR: each branch keeps its index.)
-- An invoice without lines gives one row whose line columns are null.
-- The ref_* columns resolve the invoice's references in the ERP (null when not found).
--
-- Parameters: month_start (date, inclusive), month_end (date, exclusive),
-- watermark (timestamp), pending_ids (list of invoice numbers),
-- pending_credit_note_ids (list of credit note numbers).
-- A deployment whose ERP differs rewrites this query, keeping the output columns.
WITH scope AS (
  SELECT i0.invoice_no
  FROM invoices AS i0
  WHERE (i0.invoice_date >= :month_start AND i0.invoice_date < :month_end)
     OR i0.updated_at > :watermark
     OR i0.invoice_no IN :pending_ids
  UNION
  SELECT cn.invoice_no
  FROM credit_notes AS cn
  WHERE (cn.issue_date >= :month_start AND cn.issue_date < :month_end)
     OR cn.updated_at > :watermark
     OR cn.credit_note_no IN :pending_credit_note_ids
)
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
JOIN scope AS s ON s.invoice_no = i.invoice_no
LEFT JOIN contracts AS ct ON ct.contract_no = i.contract_no
LEFT JOIN customers AS cu ON cu.cust_no = i.cust_no
LEFT JOIN invoice_lines AS l ON l.invoice_no = i.invoice_no
ORDER BY i.invoice_no, l.line_no
