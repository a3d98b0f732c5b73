-- Credit notes of one load, one row per credit note line, ordered by credit note then line.
--
-- Scope: the credit notes issued in the billing month, every credit note updated since the
-- watermark of the last successful load, the credit notes still pending from earlier runs, and
-- the credit notes of every invoice changed since the watermark or pending (an invoice
-- cancelled takes its credit notes out of Fincome with it, before it).
-- A credit note without lines gives one row whose line columns are null.
-- The ref_* columns resolve the credit note's customer and invoice in the ERP (null when not
-- found). credited_total is what the credit notes of its invoice that count against it (ISSUED
-- and REFUNDED, the statuses the mapping sends) add up to, in issue order, up to this one.
--
-- Parameters: month_start (date, inclusive), month_end (date, exclusive),
-- watermark (timestamp), pending_ids (list of credit note numbers),
-- pending_invoice_ids (list of invoice numbers).
-- A deployment whose ERP differs rewrites this query, keeping the output columns.
WITH scope AS (
  SELECT cn0.credit_note_no, cn0.invoice_no
  FROM credit_notes AS cn0
  WHERE (cn0.issue_date >= :month_start AND cn0.issue_date < :month_end)
     OR cn0.updated_at > :watermark
     OR cn0.credit_note_no IN :pending_ids
  UNION
  SELECT cn1.credit_note_no, cn1.invoice_no
  FROM credit_notes AS cn1
  JOIN invoices AS i1 ON i1.invoice_no = cn1.invoice_no
  WHERE i1.updated_at > :watermark
     OR i1.invoice_no IN :pending_invoice_ids
),
credited AS (
  SELECT
    c2.credit_note_no,
    SUM(c2.total_net) OVER (
      PARTITION BY c2.invoice_no
      ORDER BY c2.issue_date, c2.credit_note_no
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS credited_total
  FROM credit_notes AS c2
  JOIN (SELECT DISTINCT s2.invoice_no FROM scope AS s2) AS si ON si.invoice_no = c2.invoice_no
  WHERE c2.doc_status IN ('ISSUED', 'REFUNDED')
)
SELECT
  cn.credit_note_no,
  cn.invoice_no,
  cn.cust_no,
  cn.issue_date,
  cn.doc_status,
  cn.currency,
  cn.total_net,
  cn.total_tax,
  cn.updated_at,
  cu.cust_no       AS ref_cust_no,
  i.invoice_no     AS ref_invoice_no,
  i.cust_no        AS ref_invoice_cust_no,
  i.invoice_date   AS ref_invoice_date,
  i.currency       AS ref_invoice_currency,
  i.doc_status     AS ref_invoice_status,
  i.total_net      AS ref_invoice_net,
  cr.credited_total,
  l.line_no,
  l.invoice_line_no,
  l.description,
  l.service_from,
  l.service_to,
  l.net_amount
FROM credit_notes AS cn
JOIN scope AS s ON s.credit_note_no = cn.credit_note_no
LEFT JOIN customers AS cu ON cu.cust_no = cn.cust_no
LEFT JOIN invoices AS i ON i.invoice_no = cn.invoice_no
LEFT JOIN credited AS cr ON cr.credit_note_no = cn.credit_note_no
LEFT JOIN credit_note_lines AS l ON l.credit_note_no = cn.credit_note_no
ORDER BY cn.credit_note_no, l.line_no
