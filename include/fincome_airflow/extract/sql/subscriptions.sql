-- Subscriptions (the ERP's contracts) of one load, ordered by contract number.
--
-- Scope: the load's contracts (_scoped_contracts.sql).
-- ref_cust_no resolves the contract's customer in the ERP, ref_plan_code its plan (null when
-- not found).
--
-- Parameters: those of _scoped_contracts.sql.
WITH
-- @include scoped_contracts
SELECT
  c.contract_no,
  c.cust_no,
  c.plan_code,
  c.status,
  c.start_date,
  c.end_date,
  c.terminated_on,
  c.currency,
  c.monthly_fee,
  c.updated_at,
  cu.cust_no AS ref_cust_no,
  pl.plan_code AS ref_plan_code
FROM contracts AS c
JOIN scoped_contracts AS s ON s.contract_no = c.contract_no
LEFT JOIN customers AS cu ON cu.cust_no = c.cust_no
LEFT JOIN plans AS pl ON pl.plan_code = c.plan_code
ORDER BY c.contract_no
