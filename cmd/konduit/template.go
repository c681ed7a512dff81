package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/konduit/konduit/internal/atomicfile"
	"github.com/konduit/konduit/internal/legacy"
)

type templateOptions struct {
	dir  string
	crlf bool
}

func init() { register(newTemplateCmd) }

func newTemplateCmd(g *globalOptions) *cobra.Command {
	var o templateOptions
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Write the three legacy import files with their headers only",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTemplate(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVarP(&o.dir, "output", "o", ".", "directory to write the files into")
	cmd.Flags().BoolVar(&o.crlf, "crlf", false, "end lines with CRLF instead of LF")
	return cmd
}

func runTemplate(ctx context.Context, g *globalOptions, o templateOptions) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", o.dir, err)
	}
	for _, k := range legacy.Kinds {
		path := filepath.Join(o.dir, k.FileName())
		if _, err := os.Stat(path); err == nil {
			return withHint(fmt.Errorf("write template: %s exists", path), "choose another directory with -o, or move the file away")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write template: %w", err)
		}
		err := atomicfile.Write(ctx, path, atomicfile.Options{}, func(w io.Writer) error {
			lw := legacy.NewWriter(w)
			lw.CRLF = o.crlf
			if err := lw.Write(legacy.SpecFor(k).Header()); err != nil {
				return err
			}
			return lw.Flush()
		})
		if err != nil {
			return fmt.Errorf("write template: %w", err)
		}
		fmt.Fprintf(g.stdout, "wrote %s (%s, %d columns)\n", path, k.Title(), len(legacy.SpecFor(k).Columns))
	}
	return nil
}
