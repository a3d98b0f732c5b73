-- The pricing plans of one load (common table expressions, included by plans.sql and
-- products.sql): the plans named by the load's contracts (_scoped_contracts.sql), every plan
-- updated since the watermark, and the plans still pending from earlier runs.
--
-- Parameters: watermark, pending_plan_ids (plan codes), and those of _scoped_contracts.sql.
-- @include scoped_contracts
,
scoped_plans AS (
  SELECT ct.plan_code
  FROM contracts AS ct
  JOIN scoped_contracts AS sc ON sc.contract_no = ct.contract_no
  UNION
  SELECT p0.plan_code
  FROM plans AS p0
  WHERE p0.updated_at > :watermark
     OR p0.plan_code IN :pending_plan_ids
)
