// Package ocilayout writes OCI image layouts from a root filesystem
// directory: one uncompressed layer and a configuration. BuildKit reads
// such a layout by digest, so an image made once from a directory costs
// nothing to find again, where sending the directory to BuildKit in every
// session means walking and hashing all of it each time.
package ocilayout

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
)

// Image describes the image to write.
type Image struct {
	// Rootfs is the directory that becomes the image's only layer.
	Rootfs string
	// Tag names the image in the layout's index ("latest" when empty).
	Tag string
	// Env, Entrypoint and Cmd are the image's configuration.
	Env             []string
	Entrypoint, Cmd []string
	// User and WorkingDir are the image's USER and WORKDIR.
	User, WorkingDir string
	// Config holds further fields of the image's configuration, as the
	// OCI image spec names them (Healthcheck, ExposedPorts, Labels).
	Config map[string]any
}

// Write makes an OCI image layout at dir holding img and returns the
// manifest's digest.
func Write(dir string, img Image) (string, error) {
	if img.Tag == "" {
		img.Tag = "latest"
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return "", err
	}
	// The layer is streamed to a temporary file while it is hashed.
	tmp, err := os.CreateTemp(blobs, "layer-")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	size, err := writeTar(io.MultiWriter(tmp, h), img.Rootfs)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	layerDigest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(tmp.Name(), filepath.Join(blobs, layerDigest[len("sha256:"):])); err != nil {
		return "", err
	}
	blob := func(data []byte) (map[string]any, error) {
		sum := sha256.Sum256(data)
		hexSum := hex.EncodeToString(sum[:])
		return map[string]any{"digest": "sha256:" + hexSum, "size": len(data)}, os.WriteFile(filepath.Join(blobs, hexSum), data, 0o644)
	}
	layerDesc := map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": size}
	cfg := map[string]any{"Env": img.Env, "Entrypoint": img.Entrypoint, "Cmd": img.Cmd}
	if img.User != "" {
		cfg["User"] = img.User
	}
	if img.WorkingDir != "" {
		cfg["WorkingDir"] = img.WorkingDir
	}
	maps.Copy(cfg, img.Config)
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	configDesc, err := blob(config)
	if err != nil {
		return "", err
	}
	configDesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        configDesc,
		"layers":        []any{layerDesc},
	})
	manifestDesc, err := blob(manifest)
	if err != nil {
		return "", err
	}
	manifestDesc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
	manifestDesc["annotations"] = map[string]string{"org.opencontainers.image.ref.name": img.Tag}
	manifestDesc["platform"] = map[string]string{"architecture": "amd64", "os": "linux"}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []any{manifestDesc}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return "", err
	}
	return manifestDesc["digest"].(string), nil
}

// Fingerprint is a digest of what a directory holds by name, type, mode,
// size, modification time and link target: it changes when a file of the
// directory does, without reading the files.
func Fingerprint(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		fmt.Fprintf(h, "%s\x00%v\x00%d\x00%d\x00%s\n", p, info.Mode(), info.Size(), info.ModTime().UnixNano(), link)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeTar writes dir as a tar stream (root-owned, in walk order) and
// returns its size.
func writeTar(w io.Writer, dir string) (int64, error) {
	cw := &countWriter{w: w}
	tw := tar.NewWriter(cw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		if !info.Mode().IsRegular() && !info.IsDir() && link == "" {
			return nil // devices, sockets and pipes have no place in an image layer here
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ocilayout: %w", err)
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
