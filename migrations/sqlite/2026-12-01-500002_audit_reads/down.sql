DROP TABLE audit_reads;
