-- The state database's DDL of the first release (commit af0ad5c) on postgresql:
-- what StateStore.ensure_schema ran on an empty database (metadata.create_all),
-- then the version row it wrote. Frozen test data: never edit.

CREATE TABLE fincome_schema_version (
	version SERIAL NOT NULL,
	PRIMARY KEY (version)
);

CREATE TABLE fincome_runs (
	run_key VARCHAR(250) NOT NULL,
	month VARCHAR(7) NOT NULL,
	status VARCHAR(16) NOT NULL,
	dry_run BOOLEAN NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	finished_at TIMESTAMP WITH TIME ZONE,
	max_updated_at TIMESTAMP WITHOUT TIME ZONE,
	stage_report TEXT,
	summary TEXT,
	PRIMARY KEY (run_key)
);

CREATE INDEX ix_fincome_runs_month ON fincome_runs (month);

CREATE TABLE fincome_staged (
	run_key VARCHAR(250) NOT NULL,
	resource VARCHAR(16) NOT NULL,
	record_id VARCHAR(255) NOT NULL,
	action VARCHAR(8) NOT NULL,
	payload TEXT,
	payload_hash VARCHAR(64),
	currency VARCHAR(3),
	net_amount NUMERIC(20, 2),
	PRIMARY KEY (run_key, resource, record_id)
);

CREATE TABLE fincome_rejects (
	run_key VARCHAR(250) NOT NULL,
	resource VARCHAR(16) NOT NULL,
	record_id VARCHAR(255) NOT NULL,
	seq INTEGER NOT NULL,
	outcome VARCHAR(8) NOT NULL,
	reason_code VARCHAR(64) NOT NULL,
	field VARCHAR(128),
	message TEXT NOT NULL,
	blocked_by VARCHAR(300),
	PRIMARY KEY (run_key, resource, record_id, seq)
);

CREATE TABLE fincome_ledger (
	resource VARCHAR(16) NOT NULL,
	record_id VARCHAR(255) NOT NULL,
	payload_hash VARCHAR(64),
	deleted BOOLEAN NOT NULL,
	run_key VARCHAR(250),
	confirmed_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (resource, record_id)
);

CREATE TABLE fincome_outcomes (
	run_key VARCHAR(250) NOT NULL,
	resource VARCHAR(16) NOT NULL,
	record_id VARCHAR(255) NOT NULL,
	outcome VARCHAR(16) NOT NULL,
	http_status INTEGER,
	reason TEXT,
	payload_hash VARCHAR(64),
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (run_key, resource, record_id)
);

CREATE INDEX ix_fincome_outcomes_outcome ON fincome_outcomes (run_key, outcome);

CREATE TABLE fincome_pending (
	resource VARCHAR(16) NOT NULL,
	record_id VARCHAR(255) NOT NULL,
	since_run_key VARCHAR(250) NOT NULL,
	PRIMARY KEY (resource, record_id)
);

CREATE TABLE fincome_month_locks (
	month VARCHAR(7) NOT NULL,
	run_key VARCHAR(250) NOT NULL,
	acquired_at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (month)
);

CREATE TABLE fincome_reconciliations (
	run_key VARCHAR(250) NOT NULL,
	month VARCHAR(7) NOT NULL,
	verdict TEXT NOT NULL,
	file TEXT,
	at TIMESTAMP WITH TIME ZONE NOT NULL,
	PRIMARY KEY (run_key)
);

CREATE TABLE fincome_differences (
	run_key VARCHAR(250) NOT NULL,
	resource VARCHAR(16) NOT NULL,
	record_id VARCHAR(255) NOT NULL,
	kind VARCHAR(8) NOT NULL,
	currency VARCHAR(3),
	amount_at_stake NUMERIC(20, 2),
	fields TEXT,
	detail TEXT,
	PRIMARY KEY (run_key, resource, record_id)
);

INSERT INTO fincome_schema_version (version) VALUES (1);
