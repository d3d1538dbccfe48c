DROP INDEX "enrollment_tokens_org_idx";--> statement-breakpoint
CREATE INDEX "agents_org_created_idx" ON "agents" USING btree ("organization_id","created_at","id");--> statement-breakpoint
CREATE INDEX "agents_labels_idx" ON "agents" USING gin ("labels" jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "enrollment_tokens_org_created_idx" ON "enrollment_tokens" USING btree ("organization_id","created_at","id");