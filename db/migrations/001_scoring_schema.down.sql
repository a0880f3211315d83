drop schema if exists scoring cascade;
