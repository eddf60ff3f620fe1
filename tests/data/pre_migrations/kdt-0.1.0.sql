BEGIN TRANSACTION;
CREATE TABLE api_tokens (
	id INTEGER NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	revoked_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (token_hash), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "api_tokens" VALUES(7,'api_tokens.token_hash',1,'api_tokens.name','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000');
CREATE TABLE code_reviews (
	id VARCHAR(32) NOT NULL, 
	user_id INTEGER NOT NULL, 
	course VARCHAR(128), 
	exercise_id VARCHAR(128), 
	attempt INTEGER NOT NULL, 
	level INTEGER NOT NULL, 
	lang VARCHAR(8) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	verdict VARCHAR(16), 
	files TEXT NOT NULL, 
	static TEXT NOT NULL, 
	tests TEXT, 
	suspicious TEXT, 
	narrative TEXT, 
	notices TEXT, 
	timings TEXT, 
	error TEXT, 
	created_at DATETIME NOT NULL, 
	completed_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "code_reviews" VALUES('code_reviews.id',1,'code_reviews.course','code_reviews.exercise_id',7,7,'code_rev','code_reviews.sta','code_reviews.ver','code_reviews.files','code_reviews.static','code_reviews.tests','code_reviews.suspicious','code_reviews.narrative','code_reviews.notices','code_reviews.timings','code_reviews.error','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000');
CREATE TABLE content_gaps (
	id INTEGER NOT NULL, 
	course VARCHAR(128), 
	user_id INTEGER, 
	question TEXT NOT NULL, 
	lang VARCHAR(8), 
	confidence FLOAT NOT NULL, 
	retrieved TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	reason VARCHAR(16), 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE SET NULL
);
INSERT INTO "content_gaps" VALUES(7,'content_gaps.course',1,'content_gaps.question','content_',0.25,'content_gaps.retrieved','2025-03-01 09:30:00.000000','content_gaps.rea');
CREATE TABLE conversations (
	id VARCHAR(32) NOT NULL, 
	user_id INTEGER NOT NULL, 
	course VARCHAR(128), 
	title VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	channel VARCHAR(8), 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "conversations" VALUES('fe069c0a7bd24630bd0989a4f458722e',1,'python-basics','리스트 질문','2026-12-07 23:04:04.552847','2026-12-07 23:04:04.564515','web');
CREATE TABLE feedback (
	message_id VARCHAR(32) NOT NULL, 
	user_id INTEGER NOT NULL, 
	rating VARCHAR(8) NOT NULL, 
	comment TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (message_id), 
	FOREIGN KEY(message_id) REFERENCES messages (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "feedback" VALUES('b74f30821f8044949755a2c73653e754',1,'feedback','feedback.comment','2025-03-01 09:30:00.000000');
CREATE TABLE gap_resolutions (
	id INTEGER NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	faq_doc_id VARCHAR(512), 
	question_keys TEXT NOT NULL, 
	note TEXT, 
	created_by VARCHAR(40) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "gap_resolutions" VALUES(7,'gap_resolutions.course','gap_resolutions.','gap_resolutions.title','gap_resolutions.faq_doc_id','gap_resolutions.question_keys','gap_resolutions.note','gap_resolutions.created_by','2025-03-01 09:30:00.000000');
CREATE TABLE kb_audit (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR(40) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	doc_id VARCHAR(512), 
	details TEXT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "kb_audit" VALUES(7,'2025-03-01 09:30:00.000000','kb_audit.actor','kb_audit.role','kb_audit.course','kb_audit.action','kb_audit.doc_id','kb_audit.details');
CREATE TABLE kb_chunks (
	chunk_id VARCHAR(600) NOT NULL, 
	doc_id VARCHAR(512) NOT NULL, 
	idx INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	heading_path TEXT NOT NULL, 
	line_start INTEGER NOT NULL, 
	line_end INTEGER NOT NULL, 
	tokens TEXT NOT NULL, 
	PRIMARY KEY (chunk_id), 
	FOREIGN KEY(doc_id) REFERENCES kb_documents (doc_id) ON DELETE CASCADE
);
INSERT INTO "kb_chunks" VALUES('kb_chunks.chunk_id','kb_documents.doc_id',7,'kb_chunks.text','kb_chunks.heading_path',7,7,'kb_chunks.tokens');
CREATE TABLE kb_documents (
	doc_id VARCHAR(512) NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	source_path TEXT NOT NULL, 
	format VARCHAR(16) NOT NULL, 
	title TEXT NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	level INTEGER, 
	lang VARCHAR(8) NOT NULL, 
	module TEXT, 
	skills TEXT NOT NULL, 
	prerequisites TEXT NOT NULL, 
	exercise VARCHAR(128), 
	lesson_id VARCHAR(256) NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	chunk_count INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (doc_id)
);
INSERT INTO "kb_documents" VALUES('kb_documents.doc_id','kb_documents.course','kb_documents.source_path','kb_documents.for','kb_documents.title','kb_documents.kin',7,'kb_docum','kb_documents.module','kb_documents.skills','kb_documents.prerequisites','kb_documents.exercise','kb_documents.lesson_id','kb_documents.content_hash',7,7,'kb_documents.sta','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000');
CREATE TABLE kb_jobs (
	id VARCHAR(32) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	actor VARCHAR(40) NOT NULL, 
	name VARCHAR(255) NOT NULL, 
	content_hash VARCHAR(64), 
	status VARCHAR(16) NOT NULL, 
	phase VARCHAR(16) NOT NULL, 
	done INTEGER NOT NULL, 
	total INTEGER NOT NULL, 
	report TEXT, 
	error TEXT, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	owner VARCHAR(32), 
	PRIMARY KEY (id)
);
INSERT INTO "kb_jobs" VALUES('kb_jobs.id','kb_jobs.kind','kb_jobs.course','kb_jobs.actor','kb_jobs.name','kb_jobs.content_hash','kb_jobs.status','kb_jobs.phase',7,7,'kb_jobs.report','kb_jobs.error','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000','kb_jobs.owner');
CREATE TABLE kb_overrides (
	doc_id VARCHAR(512) NOT NULL, 
	fields TEXT NOT NULL, 
	revision INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (doc_id)
);
INSERT INTO "kb_overrides" VALUES('kb_overrides.doc_id','kb_overrides.fields',7,'2025-03-01 09:30:00.000000');
CREATE TABLE kb_sentences (
	chunk_id VARCHAR(600) NOT NULL, 
	dim INTEGER NOT NULL, 
	vectors BLOB NOT NULL, 
	PRIMARY KEY (chunk_id), 
	FOREIGN KEY(chunk_id) REFERENCES kb_chunks (chunk_id) ON DELETE CASCADE
);
INSERT INTO "kb_sentences" VALUES('kb_chunks.chunk_id',7,X'000102');
CREATE TABLE kb_state (
	"key" VARCHAR(64) NOT NULL, 
	value INTEGER NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "kb_state" VALUES('kb_state.key',7);
CREATE TABLE kb_versions (
	id VARCHAR(32) NOT NULL, 
	doc_id VARCHAR(512) NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	actor VARCHAR(40) NOT NULL, 
	reason VARCHAR(32) NOT NULL, 
	file_name VARCHAR(255) NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	size_bytes INTEGER NOT NULL, 
	meta TEXT NOT NULL, 
	overrides TEXT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "kb_versions" VALUES('kb_versions.id','kb_versions.doc_id','kb_versions.course','2025-03-01 09:30:00.000000','kb_versions.actor','kb_versions.reason','kb_versions.file_name','kb_versions.content_hash',7,'kb_versions.meta','kb_versions.overrides');
CREATE TABLE kb_workers (
	owner VARCHAR(32) NOT NULL, 
	host VARCHAR(255) NOT NULL, 
	pid INTEGER NOT NULL, 
	process_key VARCHAR(255), 
	started_at DATETIME NOT NULL, 
	heartbeat_at DATETIME NOT NULL, 
	PRIMARY KEY (owner)
);
INSERT INTO "kb_workers" VALUES('kb_workers.owner','kb_workers.host',7,'kb_workers.process_key','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000');
CREATE TABLE learner_achievements (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	level INTEGER NOT NULL, 
	achieved_at DATETIME NOT NULL, 
	summary TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_learner_achievement UNIQUE (user_id, course, level), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "learner_achievements" VALUES(7,1,'learner_achievements.course',7,'2025-03-01 09:30:00.000000','learner_achievements.summary');
CREATE TABLE learner_evidence (
	id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	skill VARCHAR(128) NOT NULL, 
	item_id VARCHAR(256) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	correct BOOLEAN NOT NULL, 
	answer TEXT NOT NULL, 
	submission_key VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_learner_evidence_submission UNIQUE (submission_key, skill), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "learner_evidence" VALUES(7,1,'learner_evidence.course','learner_evidence.skill','learner_evidence.item_id','learner_evidence',0,'learner_evidence.answer','learner_evidence.submission_key','2025-03-01 09:30:00.000000');
CREATE TABLE learner_mastery (
	user_id INTEGER NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	through_id INTEGER NOT NULL, 
	params_key VARCHAR(64) NOT NULL, 
	placement_id VARCHAR(32) NOT NULL, 
	state TEXT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (user_id, course), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "learner_mastery" VALUES(1,'learner_mastery.course',7,'learner_mastery.params_key','learner_mastery.placement_id','learner_mastery.state','2025-03-01 09:30:00.000000');
CREATE TABLE learner_param_overrides (
	course VARCHAR(128) NOT NULL, 
	skill VARCHAR(128) NOT NULL, 
	params TEXT NOT NULL, 
	set_by VARCHAR(64) NOT NULL, 
	set_at DATETIME NOT NULL, 
	PRIMARY KEY (course, skill)
);
INSERT INTO "learner_param_overrides" VALUES('learner_param_overrides.course','learner_param_overrides.skill','learner_param_overrides.params','learner_param_overrides.set_by','2025-03-01 09:30:00.000000');
CREATE TABLE learner_placements (
	id VARCHAR(32) NOT NULL, 
	user_id INTEGER NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	state TEXT NOT NULL, 
	version INTEGER NOT NULL, 
	result_state INTEGER, 
	result_level INTEGER, 
	priors TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "learner_placements" VALUES('learner_placements.id',1,'learner_placements.course','learner_placemen','learner_placements.state',7,7,7,'learner_placements.priors','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000');
CREATE TABLE learner_review_cards (
	user_id INTEGER NOT NULL, 
	course VARCHAR(128) NOT NULL, 
	item_id VARCHAR(256) NOT NULL, 
	card TEXT NOT NULL, 
	due DATETIME NOT NULL, 
	reviews INTEGER NOT NULL, 
	PRIMARY KEY (user_id, course, item_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "learner_review_cards" VALUES(1,'learner_review_cards.course','learner_review_cards.item_id','learner_review_cards.card','2025-03-01 09:30:00.000000',7);
CREATE TABLE messages (
	id VARCHAR(32) NOT NULL, 
	conversation_id VARCHAR(32) NOT NULL, 
	seq INTEGER NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	content TEXT NOT NULL, 
	lang VARCHAR(8), 
	mode VARCHAR(16), 
	answerer VARCHAR(32), 
	citations TEXT NOT NULL, 
	notices TEXT NOT NULL, 
	timings TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	topic TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(conversation_id) REFERENCES conversations (id) ON DELETE CASCADE
);
INSERT INTO "messages" VALUES('b74f30821f8044949755a2c73653e754','fe069c0a7bd24630bd0989a4f458722e',0,'user','리스트 컴프리헨션이 뭐예요?','ko',NULL,NULL,'[]','[]','{}','2026-12-07 23:04:04.553841','{"kind": "new", "query": "list comprehension"}');
INSERT INTO "messages" VALUES('b0d0f8bf27664fc7b4dd6cb7b24c041d','fe069c0a7bd24630bd0989a4f458722e',1,'assistant','A list built in one line.','en',NULL,NULL,'[]','[]','{}','2026-12-07 23:04:04.564515',NULL);
CREATE TABLE users (
	id INTEGER NOT NULL, 
	username VARCHAR(40) NOT NULL, 
	display_name VARCHAR(100) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	course VARCHAR(128), 
	password_hash VARCHAR(255) NOT NULL, 
	disabled BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);
INSERT INTO "users" VALUES(1,'olduser','olduser','trainee','python-basics','$argon2id$v=19$m=65536,t=3,p=4$XOSf0m5mO2LgTtRhtARFUQ$RsNuMLNRd/x+Pf2VGeN9DuObm+xcB5OwV2qPllAfd9A',0,'2026-12-07 23:04:04.486049');
CREATE TABLE web_sessions (
	token_hash VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	csrf_token VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (token_hash), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO "web_sessions" VALUES('web_sessions.token_hash',1,'web_sessions.csrf_token','2025-03-01 09:30:00.000000','2025-03-01 09:30:00.000000');
CREATE INDEX ix_kb_documents_course ON kb_documents (course);
CREATE INDEX ix_kb_chunks_doc_id ON kb_chunks (doc_id);
CREATE INDEX ix_users_course ON users (course);
CREATE INDEX ix_gap_resolutions_course ON gap_resolutions (course);
CREATE INDEX ix_kb_audit_at ON kb_audit (at);
CREATE INDEX ix_kb_audit_doc_id ON kb_audit (doc_id);
CREATE INDEX ix_kb_audit_course ON kb_audit (course);
CREATE INDEX ix_kb_versions_doc_id ON kb_versions (doc_id);
CREATE INDEX ix_kb_versions_course ON kb_versions (course);
CREATE INDEX ix_kb_jobs_course ON kb_jobs (course);
CREATE INDEX ix_kb_jobs_owner ON kb_jobs (owner);
CREATE INDEX ix_kb_workers_heartbeat_at ON kb_workers (heartbeat_at);
CREATE INDEX ix_web_sessions_user_id ON web_sessions (user_id);
CREATE INDEX ix_web_sessions_expires_at ON web_sessions (expires_at);
CREATE INDEX ix_api_tokens_user_id ON api_tokens (user_id);
CREATE INDEX ix_conversations_updated_at ON conversations (updated_at);
CREATE INDEX ix_content_gaps_course ON content_gaps (course);
CREATE INDEX ix_content_gaps_created_at ON content_gaps (created_at);
CREATE INDEX ix_learner_evidence_user_course ON learner_evidence (user_id, course, id);
CREATE INDEX ix_learner_evidence_course_skill ON learner_evidence (course, skill);
CREATE INDEX ix_learner_review_cards_due ON learner_review_cards (user_id, course, due);
CREATE INDEX ix_learner_placements_user_course ON learner_placements (user_id, course, status);
CREATE INDEX ix_code_reviews_user_exercise ON code_reviews (user_id, course, exercise_id, attempt);
CREATE INDEX ix_messages_conversation_id ON messages (conversation_id);
COMMIT;
