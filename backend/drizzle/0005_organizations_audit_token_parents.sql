DROP INDEX "audit_log_org_created_idx";--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "parent_token_id" uuid;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "installation_admin" boolean DEFAULT false NOT NULL;--> statement-breakpoint
-- The installation's admin is the user the first-run bootstrap created (its audit entry, written
-- by the API and the bootstrap command alike, names it).
UPDATE "users" SET "installation_admin" = true WHERE "id"::text IN (SELECT "details"->>'adminUserId' FROM "audit_log" WHERE "action" = 'installation.bootstrap');--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_parent_token_id_api_tokens_id_fk" FOREIGN KEY ("parent_token_id") REFERENCES "public"."api_tokens"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_tokens_parent_idx" ON "api_tokens" USING btree ("parent_token_id") WHERE "api_tokens"."parent_token_id" is not null;--> statement-breakpoint
CREATE INDEX "audit_log_org_created_id_idx" ON "audit_log" USING btree ("organization_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);