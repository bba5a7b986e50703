DROP INDEX "keys_next_rotation_idx";--> statement-breakpoint
CREATE INDEX "keys_next_rotation_at_id_idx" ON "keys" USING btree ("next_rotation_at","id");